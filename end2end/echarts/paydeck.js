// The ECharts that Paydeck ships: only the chart types, components and renderer its charts
// use (see app/src/charts), bundled from the npm package at build time into one script that
// sets the `echarts` global the WASM calls (init, setOption, resize, connect, dispose).
// A chart option naming a series type or component not registered here is drawn without it,
// silently in this production build; ECharts names what is missing only in a development
// build (`define: process.env.NODE_ENV = "development"` in build.mjs). Add the piece here
// when a chart starts using it.
import * as echarts from 'echarts/core';
import { BarChart, LineChart } from 'echarts/charts';
import {
  AxisPointerComponent,
  DataZoomInsideComponent,
  DataZoomSliderComponent,
  GridComponent,
  LegendPlainComponent,
  MarkAreaComponent,
  MarkLineComponent,
  TooltipComponent,
} from 'echarts/components';
import { CanvasRenderer } from 'echarts/renderers';

echarts.use([
  LineChart,
  BarChart,
  GridComponent,
  AxisPointerComponent,
  TooltipComponent,
  LegendPlainComponent,
  MarkAreaComponent,
  MarkLineComponent,
  DataZoomInsideComponent,
  DataZoomSliderComponent,
  CanvasRenderer,
]);

globalThis.echarts = echarts;
