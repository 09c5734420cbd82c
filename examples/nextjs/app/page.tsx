// A server component: it renders the client-side task list. Importing electrolite/react here
// and during server rendering touches no window or Worker; the database opens in the browser.
import { Tasks } from './tasks';

export default function Page() {
  return (
    <main>
      <h1>Tasks</h1>
      <Tasks userId="example-user" />
    </main>
  );
}
