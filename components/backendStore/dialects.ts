// The DB URI dialect table for the image: images/tracking-server/entrypoint.py composes the
// aws target's URI from MLFLOW_DB_* parts with the same dialect, port and query the Docker
// target's renderDatabaseUri uses. Generated from ENGINES by `npm run generate`; a unit
// test fails when the committed JSON is not what this renders.
import type { BackendEngine } from "../config/types";
import { ENGINES, EngineSettings } from "./database";

/** Where the image's build context keeps the rendered table (copied next to entrypoint.py). */
export const DIALECTS_FILE = "db_dialects.json";

export function renderDialectsJson(engines: Readonly<Record<BackendEngine, EngineSettings>> = ENGINES): string {
    const table: Record<string, { dialect: string; port: number; query: string }> = {};
    for (const engine of Object.keys(engines).sort() as BackendEngine[]) {
        const { dialect, port, query } = engines[engine];
        table[engine] = { dialect, port, query };
    }
    return `${JSON.stringify(table, null, 2)}\n`;
}
