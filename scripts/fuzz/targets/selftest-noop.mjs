import fc from 'fast-check';
export default { async setup() { return { arbitrary: fc.nat(), run() { return 'ok'; } }; } };
