import { Template } from '@huggingface/jinja';

import { ChatTemplateError, ChatTemplateNotFoundError } from './errors.js';
import type { ChatMessage, ChatTemplateOptions } from './Tokenizer.js';

/** The special token strings a template may use (`{{ bos_token }}`). */
export interface ChatTemplateTokens {
  readonly bos_token?: string;
  readonly eos_token?: string;
  readonly pad_token?: string;
  readonly unk_token?: string;
}

/**
 * A tokenizer's chat templates: one default template, or several named ones (a
 * `tokenizer_config.json` may hold `[{name: 'default', template}, {name: 'tool_use', template}]`),
 * rendered with `@huggingface/jinja` (Hugging Face's Jinja subset for chat templates, the one
 * transformers.js uses). Each template is parsed on first use, so a broken template fails only the
 * calls that use it.
 */
export class ChatTemplates {
  private readonly parsed = new Map<string, Template>();

  constructor(
    /** The tokenizer, for messages. */
    readonly source: string,
    /** Name -> Jinja source; the unnamed template is `default`. */
    private readonly templates: ReadonlyMap<string, string>,
    private readonly tokens: ChatTemplateTokens,
  ) {}

  /** The Jinja source of the default template, when there is one. */
  get defaultTemplate(): string | undefined {
    return this.templates.get(DEFAULT_TEMPLATE);
  }

  /** The template names, sorted. */
  get names(): string[] {
    return [...this.templates.keys()].sort();
  }

  /** See `Tokenizer.applyChatTemplate`. */
  render(messages: readonly ChatMessage[], options: ChatTemplateOptions = {}): string {
    const name = options.templateName ?? (options.tools !== undefined && this.templates.has(TOOL_USE_TEMPLATE) ? TOOL_USE_TEMPLATE : DEFAULT_TEMPLATE);
    const template = this.template(name, options.templateName !== undefined);
    const variables: Record<string, unknown> = {
      messages,
      add_generation_prompt: options.addGenerationPrompt ?? false,
      ...this.tokens,
      ...(options.tools === undefined ? {} : { tools: options.tools }),
      ...(options.documents === undefined ? {} : { documents: options.documents }),
      ...options.variables,
    };
    try {
      return template.render(variables);
    } catch (error) {
      throw new ChatTemplateError(this.source, `failed: ${messageOf(error)}`, { cause: error });
    }
  }

  private template(name: string, named: boolean): Template {
    const cached = this.parsed.get(name);
    if (cached !== undefined) {
      return cached;
    }
    const text = this.templates.get(name);
    if (text === undefined) {
      throw named || this.templates.size > 0
        ? new ChatTemplateNotFoundError(this.source, name, this.names)
        : new ChatTemplateNotFoundError(this.source);
    }
    let template: Template;
    try {
      template = new Template(text);
    } catch (error) {
      throw new ChatTemplateError(
        this.source,
        `${name === DEFAULT_TEMPLATE ? '' : `named \`${name}\` `}is not a valid Jinja template: ${messageOf(error)}`,
        { cause: error },
      );
    }
    this.parsed.set(name, template);
    return template;
  }
}

/** The name of the unnamed (or `default`) template. */
export const DEFAULT_TEMPLATE = 'default';
/** The template transformers picks when tools are given. */
const TOOL_USE_TEMPLATE = 'tool_use';

function messageOf(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return /[.!?]$/.test(text) ? text : `${text}.`;
}
