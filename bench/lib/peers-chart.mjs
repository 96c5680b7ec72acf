// The chart of bench/peers.mjs: grouped bars of median req/s, one group per adapter, algorithm
// and route, one bar per configuration, rendered to SVG on the server side by echarts.
import * as echarts from 'echarts';

const WIDTH = 1200;
const HEIGHT = 600;

/** Display names of the configurations, in the order of the bars. */
export const CONFIGURATION_LABELS = Object.freeze({
  'ours-cache-on': '@secure-api/nestjs, cache on',
  'ours-cache-off': '@secure-api/nestjs, cache off',
  peer: "the adapter's usual peer stack (see bench/README.md)",
  bare: 'bare routes (no security)',
});

/** The SVG text of the chart of `report` (the results JSON of bench/peers.mjs). */
export function renderPeersChart(report) {
  const cells = report.cells;
  const categories = cells.map(
    (cell) =>
      `${cell.adapter === 'express' ? 'Express' : 'Fastify'} ${cell.alg}\n${cell.route === 'get' ? 'GET /items' : 'POST /items'}`,
  );
  const series = Object.entries(CONFIGURATION_LABELS).map(([id, name]) => ({
    name,
    type: 'bar',
    data: cells.map((cell) => Math.round(cell.configurations[id]?.median.reqPerSec ?? 0)),
    label: {
      show: true,
      position: 'top',
      fontSize: 9,
      rotate: 90,
      align: 'left',
      verticalAlign: 'middle',
    },
  }));
  const chart = echarts.init(null, null, {
    renderer: 'svg',
    ssr: true,
    width: WIDTH,
    height: HEIGHT,
  });
  chart.setOption({
    animation: false,
    backgroundColor: '#ffffff',
    title: {
      text: `Median req/s, one server core${report.quick ? ' (QUICK RUN: smoke test, not a figure)' : ''}`,
      subtext:
        `${report.startedAt} · ${report.machine.cpus.model} · Node ${report.machine.node} · ` +
        `${report.config.repeats} repeats of ${report.config.seconds} s, ` +
        `${report.config.connections} connections · bench/results/${report.files[0]}`,
      left: 'center',
    },
    // At the bottom, apart from the subtitle: renderers with wider fonts than echarts measures
    // (librsvg) made the two overlap at the top.
    legend: { bottom: 8, itemGap: 48 },
    grid: { top: 100, left: 70, right: 20, bottom: 90 },
    xAxis: { type: 'category', data: categories, axisLabel: { interval: 0 } },
    yAxis: { type: 'value', name: 'req/s' },
    series,
  });
  const svg = chart.renderToSVGString();
  chart.dispose();
  return svg;
}
