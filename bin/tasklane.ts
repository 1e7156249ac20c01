#!/usr/bin/env node
// The `tasklane` command: `tasklane serve`, `tasklane migrate`.
import '../src/main.ts';
