/**
 * Small helpers that build DOM nodes. Text always goes in as text nodes, so a
 * value from the registry (a run named `<img src=x onerror=alert(1)>`) is shown
 * as the characters it is and never parsed as markup. Nothing in the panel hands
 * a string to the HTML parser (tests/test_panel_source.py checks the sources).
 */

/** What can be put inside an element: nodes, text, or nothing. */
export type Child = Node | string | number | null | undefined | false;

export interface IProps {
  className?: string;
  title?: string;
  /** Plain attributes (aria-*, role, type, ...). */
  attrs?: Record<string, string>;
  /** Event listeners, e.g. `{click: () => ...}`. */
  on?: { [K in keyof HTMLElementEventMap]?: (event: HTMLElementEventMap[K]) => void };
}

/** Append children to a node; strings and numbers become text nodes. */
export function append(parent: Node, ...children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) {
      continue;
    }
    parent.appendChild(
      typeof child === 'string' || typeof child === 'number'
        ? document.createTextNode(String(child))
        : child
    );
  }
}

/**
 * Create an element, e.g. `h('td', {className: 'x'}, run.name)`.
 */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: IProps | null = null,
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  if (props) {
    if (props.className) {
      element.className = props.className;
    }
    if (props.title) {
      element.title = props.title;
    }
    for (const [name, value] of Object.entries(props.attrs ?? {})) {
      element.setAttribute(name, value);
    }
    for (const [type, listener] of Object.entries(props.on ?? {})) {
      element.addEventListener(type, listener as EventListener);
    }
  }
  append(element, ...children);
  return element;
}

/** Remove every child of a node. */
export function clear(node: Node): void {
  while (node.firstChild) {
    node.removeChild(node.firstChild);
  }
}

/** Replace the children of a node. */
export function replaceChildren(node: Node, ...children: Child[]): void {
  clear(node);
  append(node, ...children);
}

/** A button of the panel's style. */
export function button(
  label: Child,
  onClick: (event: MouseEvent) => void,
  props: IProps = {}
): HTMLButtonElement {
  const className = ['jp-mlops-button', props.className].filter(Boolean).join(' ');
  return h(
    'button',
    {
      ...props,
      className,
      attrs: { type: 'button', ...props.attrs },
      on: { ...props.on, click: onClick }
    },
    label
  );
}

/** The kinds of message a section shows in place of its content. */
export type NoticeKind = 'empty' | 'loading' | 'error';

/**
 * A message in words in place of content: "Loading runs…", "No models recorded
 * yet", or an error with the server's hint.
 */
export function notice(kind: NoticeKind, text: string, hint: string | null = null): HTMLElement {
  return h(
    'div',
    {
      className: `jp-mlops-notice jp-mlops-notice-${kind}`,
      attrs: kind === 'error' ? { role: 'alert' } : { role: 'status' }
    },
    h('p', { className: 'jp-mlops-notice-text' }, text),
    hint ? h('p', { className: 'jp-mlops-notice-hint' }, hint) : null
  );
}

/** Lower-case a state word into a CSS-safe token: "Manual review" -> "manual-review". */
export function stateToken(state: string | null | undefined): string {
  return String(state ?? 'unknown')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
}

/** A coloured word for a state: run status, gate verdict, drift decision. */
export function badge(state: string | null | undefined, label?: string): HTMLElement {
  const text = label ?? String(state ?? 'unknown');
  return h(
    'span',
    { className: 'jp-mlops-badge', attrs: { 'data-state': stateToken(state) } },
    text
  );
}

/** A state as a small coloured dot, its word in the tooltip and for screen readers. */
export function stateDot(state: string | null | undefined): HTMLElement {
  const text = String(state ?? 'unknown');
  return h(
    'span',
    {
      className: 'jp-mlops-badge jp-mlops-dot',
      title: text,
      attrs: { 'data-state': stateToken(state) }
    },
    h('span', { className: 'jp-mlops-sr-only' }, text)
  );
}

/** A table with a header row; `rows` are arrays of cells (nodes or text). */
export function table(headers: Child[], rows: Child[][], props: IProps = {}): HTMLTableElement {
  const className = ['jp-mlops-table', props.className].filter(Boolean).join(' ');
  return h(
    'table',
    { ...props, className },
    h('thead', null, h('tr', null, ...headers.map(cell => h('th', null, cell)))),
    h('tbody', null, ...rows.map(cells => h('tr', null, ...cells.map(cell => h('td', null, cell)))))
  );
}

/** A table whose cells carry `data-rank`, so narrow widths hide the least useful first. */
export function rankedTable(
  headers: [string, number][],
  rows: Child[][],
  className: string
): HTMLTableElement {
  return h(
    'table',
    { className: `jp-mlops-table ${className}` },
    h(
      'thead',
      null,
      h(
        'tr',
        null,
        ...headers.map(([label, rank]) => h('th', { attrs: { 'data-rank': String(rank) } }, label))
      )
    ),
    h(
      'tbody',
      null,
      ...rows.map(cells =>
        h(
          'tr',
          null,
          ...cells.map((cell, i) =>
            h('td', { attrs: { 'data-rank': String(headers[i][1]) } }, cell)
          )
        )
      )
    )
  );
}

/** A collapsible section: `<details><summary>title</summary>…</details>`. */
export function section(title: Child, open: boolean, ...children: Child[]): HTMLDetailsElement {
  const details = h(
    'details',
    { className: 'jp-mlops-section' },
    h('summary', null, title),
    ...children
  );
  details.open = open;
  return details;
}
