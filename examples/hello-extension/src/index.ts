export { Greeter, StandardGreeter } from './greeter.js';
export { default as setupHelloExtension } from './extension.js';
