/**
 * The panel's sidebar icon: a rising curve over a bar chart. `jp-icon3` lets
 * JupyterLab recolour it for the light and dark themes.
 */
import { LabIcon } from '@jupyterlab/ui-components';

const svgstr = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="#616161">
    <rect x="3" y="14" width="3" height="7" rx="0.5"/>
    <rect x="8.5" y="11" width="3" height="10" rx="0.5"/>
    <rect x="14" y="13" width="3" height="8" rx="0.5"/>
    <rect x="19.5" y="8" width="3" height="13" rx="0.5"/>
    <path d="M2.3 9.6 1.2 8.2 8.6 2.6l5.6 4.3 7.6-5.4 1 1.4-8.6 6.2L8.6 4.8z"/>
  </g>
</svg>`;

export const mlopsIcon = new LabIcon({ name: 'jupyter-mlops:panel', svgstr });
