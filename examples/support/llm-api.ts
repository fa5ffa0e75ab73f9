// The LLM APIs the examples talk to: local servers on 127.0.0.1 that answer as OpenAI's and Anthropic's documentation
// describes (status codes, rate-limit headers, bodies), limiting requests and tokens at once. They are the test suite's
// own (test/support/llm-servers.ts).
export { startAnthropicServer, startOpenAiServer } from '../../test/support/llm-servers.js';
export type { LlmServer } from '../../test/support/llm-servers.js';
