#!/usr/bin/env node
/** The `datasync` command. Exit status: 0 success, 1 the operation failed, 2 bad usage or bad config. */
import { main } from './cli/index.js';

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  },
);
