/** The name under which the qwen model family is registered. */
export const QWEN_FAMILY = 'qwen';
