/**
 * `{{ name }}` placeholders, the syntax the optimizer keeps intact in every variant (whitespace
 * inside the braces does not matter). One pass: a value that itself contains `{{x}}` is not
 * expanded again. Placeholders without a value stay as they are.
 */
const VARIABLE_RE = /\{\{([^{}\n]*)\}\}/g;

export type TemplateVariables = Readonly<Record<string, string | number | boolean>>;

export function renderTemplate(content: string, variables: TemplateVariables | undefined): string {
  if (!variables || !content.includes('{{')) return content;
  return content.replace(VARIABLE_RE, (whole, inner: string) => {
    const name = inner.trim().replace(/\s+/g, ' ');
    return Object.prototype.hasOwnProperty.call(variables, name) ? String(variables[name]) : whole;
  });
}
