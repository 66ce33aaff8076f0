// Drives a running `ternion serve` with the official openai package, as an application would.
// NodeClientTest starts the server and passes, in the environment:
//   TERNION_URL     the server's address
//   TERNION_MODEL   the model id /v1/models should list
//   EXPECTED_TEXT   the engine's greedy reply to the chat below (computed alone, without the server)
import OpenAI from 'openai';

const url = process.env.TERNION_URL;
const model = process.env.TERNION_MODEL;
const expected = process.env.EXPECTED_TEXT;
const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'sk-node-test', maxRetries: 0, timeout: 60_000 });
const messages = [
  { role: 'system', content: 'Tell a story.' },
  { role: 'user', content: 'Once upon a time' },
];
let failures = 0;

function check(ok, what, detail) {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}${ok ? '' : `: ${JSON.stringify(detail)}`}`);
  if (!ok) failures++;
}

// /v1/models
const ids = [];
for await (const m of client.models.list()) ids.push(m.id);
check(ids.includes(model), 'models.list names the model', ids);

// A whole answer.
const whole = await client.chat.completions.create({ model, messages, temperature: 0, max_tokens: 20 });
check(whole.object === 'chat.completion', 'chat.completion object', whole.object);
check(whole.choices[0].message.role === 'assistant', 'assistant message', whole.choices[0].message);
check(whole.choices[0].message.content === expected, 'the greedy text is the engine\'s', { got: whole.choices[0].message.content, expected });
check(whole.choices[0].finish_reason === 'length', 'finish_reason length at max_tokens', whole.choices[0].finish_reason);
const u = whole.usage;
check(u.completion_tokens === 20 && u.prompt_tokens > 0 && u.total_tokens === u.prompt_tokens + u.completion_tokens, 'usage adds up', u);

// A stream, with usage at the end.
const stream = await client.chat.completions.create({
  model, messages, temperature: 0, max_tokens: 20, stream: true, stream_options: { include_usage: true },
});
let text = '';
let finish = null;
let usage = null;
for await (const chunk of stream) {
  if (chunk.usage) usage = chunk.usage;
  for (const c of chunk.choices) {
    text += c.delta?.content ?? '';
    if (c.finish_reason) finish = c.finish_reason;
  }
}
check(text === expected, 'the streamed text is the same', { text, expected });
check(finish === 'length', 'the stream ends with finish_reason length', finish);
check(usage?.completion_tokens === 20 && usage.total_tokens === usage.prompt_tokens + 20, 'the stream\'s last chunk has usage', usage);

// An aborted stream: the server (one slot, generation that only a limit ends) must free the slot at
// once, so a short request queued behind it completes in well under the seconds the endless one needs.
const controller = new AbortController();
const endless = await client.chat.completions.create(
  { model, messages, temperature: 0, max_tokens: 3000, stream: true }, { signal: controller.signal });
let seen = 0;
try {
  for await (const chunk of endless) {
    if (++seen === 5) controller.abort();
  }
} catch (e) {
  check(e.name === 'APIUserAbortError' || e.name === 'AbortError', 'the abort ends the stream', e.name);
}
check(seen >= 5, 'the endless stream was read before the abort', seen);
const t0 = Date.now();
const after = await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'One day' }], max_tokens: 5 });
const ms = Date.now() - t0;
check(after.choices[0].message.content.length > 0 && ms < 3000, `a request after the abort completes (${ms} ms)`, { ms });

// OpenAI's errors come back as the client's typed errors.
try {
  await client.chat.completions.create({ model, messages, n: 2 });
  check(false, 'n=2 is refused', 'accepted');
} catch (e) {
  check(e.status === 400 && e.param === 'n', 'n=2 is a 400 naming n', { status: e.status, param: e.param, message: e.message });
}

// Tools. No tiny model chooses to call one, so the server's test seam replaces the model's text with
// x_script (a test-only field): a Hermes tool call, which the client must see as tool_calls.
const tools = [{
  type: 'function',
  function: {
    name: 'get_weather', description: 'The weather in a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
}];
const ask = [{ role: 'user', content: 'Weather in Paris?' }];
const script = ['Checking.', ' <tool_call>\n{"name": "get_weather", ', '"arguments": {"city": "Paris"}}\n</tool_call>'];
const called = await client.chat.completions.create({ model, messages: ask, tools, max_tokens: 8, x_script: script });
const call = called.choices[0].message.tool_calls?.[0];
check(called.choices[0].finish_reason === 'tool_calls', 'a tool call ends with finish_reason tool_calls', called.choices[0]);
check(call?.type === 'function' && call.function.name === 'get_weather' && JSON.parse(call.function.arguments).city === 'Paris'
  && call.id.length > 0, 'message.tool_calls has the call', called.choices[0].message);
check(called.choices[0].message.content === 'Checking.', 'the text before the call is the content', called.choices[0].message.content);

// The same streamed, read by the client's own accumulator (it checks the deltas fit together).
const runner = client.chat.completions.stream({ model, messages: ask, tools, max_tokens: 8, x_script: script });
const final = await runner.finalChatCompletion();
const streamedCall = final.choices[0].message.tool_calls?.[0];
check(streamedCall?.function.name === 'get_weather' && JSON.parse(streamedCall.function.arguments).city === 'Paris',
  'a streamed tool call is assembled by the client', final.choices[0].message);
check(final.choices[0].message.content === 'Checking.', 'the streamed text before the call is the content', final.choices[0].message.content);

// The round trip: the call and its result go back; the model (unscripted) answers.
const answer = await client.chat.completions.create({
  model, tools, max_tokens: 5,
  messages: [...ask, called.choices[0].message, { role: 'tool', tool_call_id: call?.id ?? 'x', content: '18 C, sunny' }],
});
check(answer.choices[0].message.role === 'assistant' && typeof answer.choices[0].message.content === 'string',
  'a conversation with a tool call and its result is answered', answer.choices[0]);

console.log(failures === 0 ? 'all checks passed' : `${failures} checks failed`);
process.exit(failures === 0 ? 0 : 1);
