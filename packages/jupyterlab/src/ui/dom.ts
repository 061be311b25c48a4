/** A tiny element builder: the widgets re-render small lists, no framework needed. */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: { className?: string; text?: string; title?: string; data?: Record<string, string> } = {},
  children: (Node | null)[] = [],
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (props.className) node.className = props.className;
  if (props.text !== undefined) node.textContent = props.text;
  if (props.title) node.title = props.title;
  for (const [k, v] of Object.entries(props.data ?? {})) node.dataset[k] = v;
  for (const child of children) if (child) node.appendChild(child);
  return node;
}

export function button(label: string, action: string, onClick: () => void, enabled: { enabled: boolean; why: string }): HTMLButtonElement {
  const b = el('button', { className: 'jp-Button nbferry-button', text: label, data: { action } });
  b.type = 'button';
  b.disabled = !enabled.enabled;
  if (!enabled.enabled) b.title = enabled.why;
  b.addEventListener('click', (event) => {
    event.stopPropagation();
    onClick();
  });
  return b;
}
