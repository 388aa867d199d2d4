import { configure } from '@testing-library/react';

// findBy*/waitFor wait up to 1 s by default; antd's re-renders after a refetch can take longer on a
// loaded 2-core CI machine (a lineage tree redraw timed out there). Waiting longer does not slow
// passing tests: they resolve as soon as the element appears.
configure({ asyncUtilTimeout: 5000 });

// jsdom lacks these browser APIs that antd and echarts use.
if (!window.matchMedia) {
  Object.defineProperty(window, 'matchMedia', {
    value: (query: string) => ({
      matches: false,
      media: query,
      onchange: null,
      addListener: () => {},
      removeListener: () => {},
      addEventListener: () => {},
      removeEventListener: () => {},
      dispatchEvent: () => false,
    }),
  });
}
if (!('ResizeObserver' in window)) {
  class ResizeObserverStub {
    observe() {}
    unobserve() {}
    disconnect() {}
  }
  Object.defineProperty(window, 'ResizeObserver', { value: ResizeObserverStub });
}
