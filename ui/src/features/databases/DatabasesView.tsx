//! The main view: IdPs and their sign-ins above one card per database; the welcome when
//! Tapgate is not set up, and the loader's error when the config file is broken.

import type { Overview } from '../../api';
import { DatabaseCard } from './DatabaseCard';
import { IdpRow } from './IdpRow';
import { ConfigErrorPanel, Welcome } from './Welcome';

export function DatabasesView({ overview }: { overview: Overview }) {
  if (overview.mode === 'unconfigured' || overview.mode === 'startingDemo') {
    return <Welcome starting={overview.mode === 'startingDemo'} />;
  }
  if (overview.mode === 'configError') {
    return <ConfigErrorPanel error={overview.configError} path={overview.configPath} />;
  }
  return (
    <div className="databases">
      {overview.idps.length > 0 && (
        <section className="idps" aria-label="Identity providers">
          {overview.idps.map((idp) => (
            <IdpRow key={idp.name} idp={idp} />
          ))}
        </section>
      )}
      {overview.databases.length === 0 ? (
        <p className="empty">No databases yet. Add one in Settings.</p>
      ) : (
        <section className="cards" aria-label="Databases">
          {overview.databases.map((db) => (
            <DatabaseCard key={db.name} db={db} idp={overview.idps.find((i) => i.name === db.idp)} canOpenTerminal={overview.terminalAvailable} />
          ))}
        </section>
      )}
    </div>
  );
}
