#!/usr/bin/env node
import { buildProgram } from "./program.js";
import { runMain } from "./run-main.js";

void runMain(buildProgram(), process.argv);
