// Helpers for reading what Pulumi's mock monitor hands to mocks. Shared by the unit-test
// harness (tests/harness.ts) and the e2e spec renderer (e2e/render-spec.ts); no jest here.
import { PROJECT } from "../components/config";

// How the mock monitor passes a secret value: { [SECRET_SIG_KEY]: SECRET_SIG, value }.
const SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

function isSecret(v: unknown): v is { value: unknown } {
    return typeof v === "object" && v !== null && (v as Record<string, unknown>)[SECRET_SIG_KEY] === SECRET_SIG;
}

/** Plain values as the provider would use them, and the paths (`envs`, `uploads[1].content`) that were secret. */
export function unwrapMockSecrets(value: unknown): { value: any; secretPaths: string[] } {
    const secretPaths: string[] = [];
    const walk = (v: unknown, at: string): unknown => {
        if (isSecret(v)) {
            secretPaths.push(at);
            return walk(v.value, at);
        }
        if (Array.isArray(v)) return v.map((x, i) => walk(x, `${at}[${i}]`));
        if (typeof v === "object" && v !== null) {
            return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x, at ? `${at}.${k}` : k)]));
        }
        return v;
    };
    return { value: walk(value, ""), secretPaths };
}

/** Stack config keys as Pulumi stores them: project keys get the project prefix, `aws:region` stays. */
export function qualifyConfig(config: Readonly<Record<string, string>>): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(config)) out[k.includes(":") ? k : `${PROJECT}:${k}`] = v;
    return out;
}

/** Waits until no new resource has been recorded for a while (outputs resolve asynchronously). */
export async function settleRegistrations(recorded: readonly unknown[], who: string): Promise<void> {
    let last = -1;
    for (let i = 0; i < 200; i++) {
        await new Promise(r => setTimeout(r, 50));
        if (recorded.length === last && i > 10) return;
        last = recorded.length;
    }
    throw new Error(`${who}: resources kept being registered for 10 s`);
}
