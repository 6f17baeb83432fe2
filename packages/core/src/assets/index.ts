export { AssetUri, redactText } from './AssetUri.js';
