/**
 * The CloudWatch dashboard body (the JSON string PutDashboard takes), typed
 * for the widgets stallwatch uses, plus the grid that places them. Limits
 * (CloudWatch "Dashboard Body Structure and Syntax"): the grid is 24 units
 * wide (x + width ≤ 24), at most 500 widgets per dashboard.
 */

/** Rendering options of one metric line; the last element of a metric row. */
export interface MetricRenderOptions {
  id?: string;
  stat?: string;
  label?: string;
  visible?: boolean;
  yAxis?: "left" | "right";
  color?: string;
  period?: number;
  region?: string;
}

/** `[Namespace, MetricName, dimName, dimValue, …, options]`. */
export type MetricRow = [string, string, ...(string | MetricRenderOptions)[]];

/** A metric-math (or SEARCH) line. */
export interface ExpressionOptions extends Omit<MetricRenderOptions, "stat"> {
  expression: string;
  id: string;
}
export type ExpressionRow = [ExpressionOptions];

export interface Annotation {
  label: string;
  value: number;
  color?: string;
}

export interface MetricWidgetProperties {
  title: string;
  region: string;
  view: "timeSeries" | "singleValue";
  stacked: boolean;
  /** Seconds. */
  period: number;
  stat: string;
  metrics: (MetricRow | ExpressionRow)[];
  yAxis?: { left?: AxisRange; right?: AxisRange };
  annotations?: { horizontal: Annotation[] };
}

export interface AxisRange {
  min?: number;
  max?: number;
  label?: string;
  showUnits?: boolean;
}

export interface LogWidgetProperties {
  title: string;
  region: string;
  /** `SOURCE '<log group>' | …` (Logs Insights). */
  query: string;
  view: "table";
}

export interface TextWidgetProperties {
  markdown: string;
}

interface Placed {
  x: number;
  y: number;
  width: number;
  height: number;
}

export type Widget =
  | (Placed & { type: "metric"; properties: MetricWidgetProperties })
  | (Placed & { type: "log"; properties: LogWidgetProperties })
  | (Placed & { type: "text"; properties: TextWidgetProperties });

/** What PutDashboard's DashboardBody holds, parsed. */
export interface DashboardBody {
  /** ISO 8601 duration relative to now, e.g. `-PT6H`. */
  start: string;
  /** `inherit`: each widget's own period is obeyed. */
  periodOverride: "inherit" | "auto";
  widgets: Widget[];
}

export const GRID_WIDTH = 24;
export const MAX_WIDGETS = 500;
/** Our own cap on lines per graph (CloudWatch allows more, people cannot read more). */
export const MAX_METRICS_PER_WIDGET = 30;

type Unplaced = Omit<Widget, "x" | "y"> & { x?: never; y?: never };

/** Places widgets left to right, starting a new row when the next does not fit. */
export class Grid {
  readonly widgets: Widget[] = [];
  private x = 0;
  private y = 0;
  private rowHeight = 0;

  add(w: Unplaced): void {
    if (w.width < 1 || w.width > GRID_WIDTH) throw new Error(`widget width ${w.width} outside 1..24`);
    if (this.x + w.width > GRID_WIDTH) this.newRow();
    this.widgets.push({
      type: w.type,
      x: this.x,
      y: this.y,
      width: w.width,
      height: w.height,
      properties: w.properties,
    } as Widget);
    this.x += w.width;
    this.rowHeight = Math.max(this.rowHeight, w.height);
  }

  /** Ends the current row (the next widget starts at x = 0). */
  newRow(): void {
    if (this.x === 0) return;
    this.y += this.rowHeight;
    this.x = 0;
    this.rowHeight = 0;
  }

  /** A full-width markdown heading on its own row. */
  heading(markdown: string, height = 1): void {
    this.newRow();
    this.add({ type: "text", width: GRID_WIDTH, height, properties: { markdown } });
    this.newRow();
  }
}

/** Splits `items` into chunks of at most `size`. */
export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
