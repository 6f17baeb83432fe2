/** The name under which the mistral model family is registered. */
export const MISTRAL_FAMILY = 'mistral';
