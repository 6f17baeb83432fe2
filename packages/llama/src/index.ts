/** The name under which the llama model family is registered. */
export const LLAMA_FAMILY = 'llama';
