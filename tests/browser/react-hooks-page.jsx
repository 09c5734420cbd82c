// The page of react-hooks.test.mjs (bundled by the test with esbuild, React 19): components
// that each read a different part of useElectric() over the real provider, worker and engine.
// window.__renders counts each component's renders; the test drives writes through window.__db.
import { createRoot } from 'react-dom/client';
import { ElectricProvider, useElectric } from '../../dist/react/index.js';

const renders = { dbOnly: 0, status: 0, metrics: 0 };
window.__renders = renders;

function DbOnly() {
  const { db } = useElectric();
  renders.dbOnly++;
  window.__db = db;
  return null;
}

function Pending() {
  const { status } = useElectric();
  renders.status++;
  return <p id="pending">{status.pendingChanges}</p>;
}

function Metrics() {
  const { metrics } = useElectric();
  renders.metrics++;
  return <p id="metrics">{metrics ? 'metrics' : 'none'}</p>;
}

createRoot(document.getElementById('root')).render(
  <ElectricProvider url="http://127.0.0.1:9" storage=":memory:" workerUrl="/worker.js" autoSubscribe={false} uploadIntervalMs={3600000}>
    <DbOnly />
    <Pending />
    <Metrics />
  </ElectricProvider>,
);
