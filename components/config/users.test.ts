// The users and userPasswords keys: accepted shapes, and every refusal names the key path, the
// value (never a password), what is allowed and the `pulumi config` command that fixes it.
import { ConfigError, parseConfig, platformArgs, RawConfig } from ".";

function problemsOf(raw: RawConfig, secretKeys?: readonly string[]): string[] {
    try {
        parseConfig(raw, undefined, secretKeys);
    } catch (e) {
        if (e instanceof ConfigError) return e.problems;
        throw e;
    }
    return [];
}

const users = (list: unknown) => JSON.stringify(list);
const PROJECTS = '["vision","team-a:carol"]';

describe("users", () => {
    test("unset: no users key in the config at all (a stack without accounts is unchanged)", () => {
        const c = parseConfig({});
        expect(c.users).toBeUndefined();
        expect(c.userPasswords).toBeUndefined();
        expect("users" in c).toBe(false);
    });

    test("entries with roles and projects, projects optional; given passwords by name", () => {
        const c = parseConfig({
            projects: PROJECTS,
            users: users([{ name: "alice", role: "editor", projects: ["vision"] }, { name: "bob", role: "viewer" }, { name: "ops.admin", role: "admin" }]),
            userPasswords: JSON.stringify({ alice: "correct-horse-battery" }),
        });
        expect(c.users).toEqual([
            { name: "alice", role: "editor", projects: ["vision"] },
            { name: "bob", role: "viewer", projects: [] },
            { name: "ops.admin", role: "admin", projects: [] },
        ]);
        expect(c.userPasswords).toEqual({ alice: "correct-horse-battery" });
    });

    test("platformArgs takes the same as objects", () => {
        const args = platformArgs({ users: [{ name: "alice", role: "admin" }], userPasswords: { alice: "correct-horse-battery" } });
        expect(args.users).toEqual([{ name: "alice", role: "admin", projects: [] }]);
        expect(args.userPasswords).toEqual({ alice: "correct-horse-battery" });
    });

    test.each<[string, RawConfig, RegExp]>([
        ["duplicate", { users: users([{ name: "alice", role: "editor" }, { name: "alice", role: "viewer" }]) },
            /^mlflow-platform:users\[1\] = "alice" is invalid: names user alice a second time: each person has one entry \(one role\)\. Fix: pulumi config rm --path 'users\[1\]'$/],
        ["uppercase name", { users: users([{ name: "Alice", role: "editor" }]) },
            /^mlflow-platform:users\[0\]\.name = "Alice" is invalid: must be 2-63 characters: a lowercase letter, then lowercase letters, digits, '\.', '_' or '-'\. Fix: pulumi config set --path 'users\[0\]\.name' alice$/],
        ["a colon would break basic auth", { users: users([{ name: "bob:x", role: "viewer" }]) }, /users\[0\]\.name = "bob:x" is invalid: must be 2-63 characters.*Fix: pulumi config set --path 'users\[0\]\.name' bob-x$/],
        ["one letter", { users: users([{ name: "a", role: "viewer" }]) }, /users\[0\]\.name = "a" is invalid: must be 2-63/],
        ["missing name", { users: users([{ role: "viewer" }]) }, /users\[0\]\.name = undefined is invalid: must be 2-63/],
        ["reserved reader- prefix", { users: users([{ name: "reader-churn", role: "viewer" }]) },
            /^mlflow-platform:users\[0\]\.name = "reader-churn" is invalid: must not start with reader-: that prefix names the model servers' reader accounts\. Fix: pulumi config set --path 'users\[0\]\.name' alice$/],
        ["reserved model- prefix (the readers' actual names)", { users: users([{ name: "model-churn", role: "viewer" }]) }, /users\[0\]\.name = "model-churn" is invalid: must not start with model-/],
        ["the username key's login", { username: "ops", users: users([{ name: "ops", role: "admin" }]) },
            /^mlflow-platform:users\[0\]\.name = "ops" is invalid: is the username key's login, already an admin: .*Fix: pulumi config set --path 'users\[0\]\.name' /],
        ["the default username too", { users: users([{ name: "mlflow", role: "viewer" }]) }, /users\[0\]\.name = "mlflow" is invalid: is the username key's login/],
        ["a project's own login", { projects: PROJECTS, users: users([{ name: "carol", role: "viewer" }]) },
            /users\[0\]\.name = "carol" is invalid: is project team-a's own login \(projects entry team-a:carol\): pick another name/],
        ["unknown role", { users: users([{ name: "alice", role: "owner" }]) },
            /^mlflow-platform:users\[0\]\.role = "owner" is invalid: must be one of admin, editor, viewer\. Fix: pulumi config set --path 'users\[0\]\.role' viewer$/],
        ["missing role", { users: users([{ name: "alice" }]) }, /users\[0\]\.role = undefined is invalid: must be one of admin, editor, viewer/],
        ["unknown project", { projects: PROJECTS, users: users([{ name: "alice", role: "editor", projects: ["vision", "nlp"] }]) },
            /^mlflow-platform:users\[0\]\.projects\[1\] = "nlp" is invalid: must name a project in projects \(vision, team-a\)\. Fix: pulumi config rm --path 'users\[0\]\.projects\[1\]'$/],
        ["a project when none is configured", { users: users([{ name: "alice", role: "editor", projects: ["vision"] }]) },
            /users\[0\]\.projects\[0\] = "vision" is invalid: must name a project in projects, and none is configured/],
        ["projects not a list", { projects: PROJECTS, users: users([{ name: "alice", role: "editor", projects: "vision" }]) },
            /users\[0\]\.projects = "\\"vision\\"" is invalid: must be a list of project names\. Fix: pulumi config set --path 'users\[0\]\.projects' vision/],
        ["a password inside the entry", { users: users([{ name: "alice", role: "editor", password: "x" }]) },
            /users\[0\]\.password = "\\"x\\"" is invalid: is not a field of a user \(name, role, projects; passwords go in userPasswords\)\. Fix: pulumi config rm --path 'users\[0\]\.password'/],
        ["not a list", { users: '{"name":"alice"}' }, /^mlflow-platform:users = .* is invalid: must be a list of objects set item by item with --path.*Fix: pulumi config rm --path 'users'$/],
        ["an entry that is not an object", { users: '["alice"]' }, /users\[0\] = "\\"alice\\"" is invalid: must be an object \{name, role, projects\}/],
        ["a project named auth (its database would be the accounts')", { projects: '["auth"]', users: users([{ name: "alice", role: "editor" }]) },
            /^mlflow-platform:users = "1 users" is invalid: needs the database mlflow_auth for the accounts' permissions, which is project auth's database: .*Fix: pulumi config rm --path 'users'$/],
        ["a username key in the readers' namespace", { username: "model-ops", users: users([{ name: "alice", role: "editor" }]) },
            /^mlflow-platform:username = "model-ops" is invalid: must not start with model- when users is set: .*Fix: pulumi config set username mlflow$/],
        ["weak password", { users: users([{ name: "alice", role: "editor" }]), userPasswords: '{"alice":"short"}' },
            /^mlflow-platform:userPasswords\.alice = \(value hidden\) is invalid: must be 12 to 128 characters on one line\. Fix: pulumi config set --secret --path 'userPasswords\.alice' '<a-password-of-12-or-more-characters>'$/],
        ["password on two lines", { users: users([{ name: "alice", role: "editor" }]), userPasswords: JSON.stringify({ alice: "long-enough-first\nsecond" }) }, /userPasswords\.alice = \(value hidden\) is invalid: must be 12 to 128/],
        ["password for an unknown user", { users: users([{ name: "alice", role: "editor" }]), userPasswords: '{"carol":"long-enough-password"}' },
            /^mlflow-platform:userPasswords\.carol = \(value hidden\) is invalid: names no entry of users \(alice\): a password without its account is refused\. Fix: pulumi config rm --path 'userPasswords\.carol'$/],
        ["passwords without any users", { userPasswords: '{"carol":"long-enough-password"}' }, /userPasswords\.carol = \(value hidden\) is invalid: names no entry of users \(none\)/],
    ])("refuses %s", (_label, raw, expected) => {
        expect(problemsOf(raw)).toEqual(expect.arrayContaining([expect.stringMatching(expected)]));
    });

    test("a refused password is never echoed", () => {
        const problems = problemsOf({ users: users([{ name: "alice", role: "editor" }]), userPasswords: '{"alice":"hunter2"}' });
        expect(problems).toHaveLength(1);
        expect(problems.join("\n")).not.toContain("hunter2");
    });

    test("userPasswords in plaintext in the stack file is refused", () => {
        const raw = { users: users([{ name: "alice", role: "editor" }]), userPasswords: '{"alice":"long-enough-password"}' };
        expect(problemsOf(raw, [])).toEqual([expect.stringMatching(/^mlflow-platform:userPasswords = \(value hidden\) is invalid: must be stored encrypted.*Fix: pulumi config rm --path 'userPasswords'$/)]);
        expect(problemsOf(raw, ["mlflow-platform:userPasswords"])).toEqual([]);
    });

    test("every bad entry is reported at once", () => {
        expect(problemsOf({ users: users([{ name: "A", role: "x" }, { name: "ok-user", role: "viewer" }, { name: "reader-x", role: "viewer" }]) })).toHaveLength(3);
    });

    test("platformArgs phrases the fix as settings", () => {
        expect(() => platformArgs({ users: [{ name: "Alice", role: "editor" }] })).toThrow(/users\[0\]\.name = "Alice" is invalid: .*Fix: platformArgs with users\[0\]\.name = "alice"/);
    });
});
