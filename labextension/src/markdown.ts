/**
 * A small markdown renderer for notes, building DOM nodes only: the text of a note is
 * never handed to the HTML parser, so `<img src=x onerror=…>` in a note shows as those
 * characters. It knows what notes use: headings, paragraphs, lists, block quotes,
 * fenced code, rules, and inline code, bold, italics and links (http, https and
 * mailto only; any other link stays text).
 *
 * `renderMarkdown('## Stale labels\nRerun after the **March** fix.')` returns a
 * `<div class="jp-mlops-markdown">` with an `<h2>` and a `<p>`.
 */
import { append, Child, h } from './dom';

const SAFE_LINK = /^(https?:\/\/|mailto:)/i;

/**
 * Inline markup: code first (nothing inside it is markup), then links, bold, italics.
 * Underscores inside a word (snake_case names) are not emphasis.
 */
const INLINE =
  /`([^`]+)`|\[([^\]]+)\]\(([^)\s]+)\)|\*\*([^*]+)\*\*|(?<!\w)__([^_]+)__(?!\w)|\*([^*\s][^*]*)\*|(?<!\w)_([^_]+)_(?!\w)/g;

/** The nodes of one line or paragraph of inline markdown. */
export function renderInline(text: string): Child[] {
  const nodes: Child[] = [];
  const pattern = new RegExp(INLINE.source, 'g');
  let done = 0;
  for (let match = pattern.exec(text); match; match = pattern.exec(text)) {
    if (match.index > done) {
      nodes.push(text.slice(done, match.index));
    }
    const [whole, code, label, href, bold1, bold2, em1, em2] = match;
    if (code !== undefined) {
      nodes.push(h('code', null, code));
    } else if (label !== undefined) {
      nodes.push(
        SAFE_LINK.test(href)
          ? h(
              'a',
              { attrs: { href, target: '_blank', rel: 'noopener noreferrer' } },
              ...renderInline(label)
            )
          : whole
      );
    } else if (bold1 !== undefined || bold2 !== undefined) {
      nodes.push(h('strong', null, ...renderInline(bold1 ?? bold2)));
    } else {
      nodes.push(h('em', null, ...renderInline(em1 ?? em2)));
    }
    done = match.index + whole.length;
  }
  if (done < text.length) {
    nodes.push(text.slice(done));
  }
  return nodes;
}

/** Lines joined into one paragraph keep their breaks as spaces. */
function paragraph(tag: 'p' | 'li', lines: string[]): HTMLElement {
  return h(tag, null, ...renderInline(lines.join(' ')));
}

const HEADING = /^(#{1,6})\s+(.*?)\s*#*\s*$/;
const BULLET = /^\s*[-*+]\s+(.*)$/;
const NUMBERED = /^\s*\d+[.)]\s+(.*)$/;
const QUOTE = /^\s*>\s?(.*)$/;
const FENCE = /^\s*(```|~~~)/;
const RULE = /^\s*([-*_])(\s*\1){2,}\s*$/;

/** A note's markdown as DOM nodes inside a `<div class="jp-mlops-markdown">`. */
export function renderMarkdown(text: string): HTMLElement {
  const root = h('div', { className: 'jp-mlops-markdown' });
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (!line.trim()) {
      i++;
      continue;
    }
    const fence = FENCE.exec(line);
    if (fence) {
      const code: string[] = [];
      i++;
      while (i < lines.length && !lines[i].trim().startsWith(fence[1])) {
        code.push(lines[i++]);
      }
      i++; // the closing fence
      append(root, h('pre', null, h('code', null, code.join('\n'))));
      continue;
    }
    const heading = HEADING.exec(line);
    if (heading) {
      const level = Math.min(6, heading[1].length + 2); // h3 and below inside a page
      append(
        root,
        h(
          `h${level}` as 'h3',
          { className: 'jp-mlops-markdown-heading' },
          ...renderInline(heading[2])
        )
      );
      i++;
      continue;
    }
    if (RULE.test(line)) {
      append(root, h('hr'));
      i++;
      continue;
    }
    if (QUOTE.test(line)) {
      const quoted: string[] = [];
      while (i < lines.length && QUOTE.test(lines[i])) {
        quoted.push((QUOTE.exec(lines[i]) as RegExpExecArray)[1]);
        i++;
      }
      append(
        root,
        h('blockquote', null, ...Array.from(renderMarkdown(quoted.join('\n')).childNodes))
      );
      continue;
    }
    const listKind = BULLET.test(line) ? BULLET : NUMBERED.test(line) ? NUMBERED : null;
    if (listKind) {
      const list = h(listKind === BULLET ? 'ul' : 'ol');
      while (i < lines.length && listKind.test(lines[i])) {
        const item = [(listKind.exec(lines[i]) as RegExpExecArray)[1]];
        i++;
        // An indented line that starts no item continues the one before.
        while (
          i < lines.length &&
          /^\s+\S/.test(lines[i]) &&
          !BULLET.test(lines[i]) &&
          !NUMBERED.test(lines[i])
        ) {
          item.push(lines[i++].trim());
        }
        append(list, paragraph('li', item));
      }
      append(root, list);
      continue;
    }
    const text: string[] = [];
    while (
      i < lines.length &&
      lines[i].trim() &&
      !FENCE.test(lines[i]) &&
      !HEADING.test(lines[i]) &&
      !QUOTE.test(lines[i]) &&
      !BULLET.test(lines[i]) &&
      !NUMBERED.test(lines[i])
    ) {
      text.push(lines[i++].trim());
    }
    append(root, paragraph('p', text));
  }
  return root;
}
