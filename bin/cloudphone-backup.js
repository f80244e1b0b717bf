#!/usr/bin/env node
// The CLI runs from the bundle `npm install` builds (`npm run build`): plain JavaScript starts
// faster and needs ~60 MB less memory than compiling the TypeScript sources on load.
await import('../dist/main.js');
