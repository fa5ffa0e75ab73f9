/* global navigator, Response */
// The conformance program as a Worker, for workerd: it does nothing at import time (Workers allow no timers or I/O
// there); each POST carries the configuration, and the answer is the result.
import { runConformance } from './conformance.mjs';

export default {
  async fetch(request) {
    const result = await runConformance(await request.json());
    return Response.json({ runtime: `workerd (${navigator.userAgent})`, ...result });
  },
};
