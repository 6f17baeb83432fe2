export { AssetUri, redactText } from './AssetUri.js';
export * from './download/index.js';
