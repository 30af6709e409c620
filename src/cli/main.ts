#!/usr/bin/env node
// First: V8 settings must be in place before the modules below are loaded and compiled.
import "./v8-flags.js";
import { buildProgram } from "./program.js";
import { runMain } from "./run-main.js";

void runMain(buildProgram(), process.argv);
