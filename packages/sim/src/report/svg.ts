import type { TopLevelSpec } from 'vega-lite';

/**
 * Renders a vega-lite spec to a standalone SVG string, offline (vega's `none` renderer and
 * its headless SVG string renderer; no canvas, no network). vega and vega-lite load on first
 * use, so commands that draw no chart do not pay for them.
 */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const [vega, { compile }] = await Promise.all([import('vega'), import('vega-lite')]);
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
