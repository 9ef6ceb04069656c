// Team accounts on either target: each user's login (given or generated password, one stable
// htpasswd line), the proxy's identity token and MLflow's Flask key, the accounts MLflow's auth
// app gets, and the outputs. None of it exists without `users`: such a stack is unchanged.
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import type { ProxyAccount } from "../authProxy";
import { PROXY_TOKEN_LENGTH } from "../authProxy/identity";
import type { UserConfig, UserRole } from "../config/types";
import { basicAuthCredentials, type BasicAuthCredentials } from "../shared/credentials";
import { AuthUser, FLASK_SECRET_KEY_LENGTH, platformAuthUsers, projectAuthUsers } from "../trackingServer/auth";
import type { MlflowPlatformArgs } from "./types";

export interface PlatformAccounts {
    readonly users: readonly UserConfig[];
    /** Per user, in the users order. */
    readonly credentials: readonly BasicAuthCredentials[];
    /** What the proxy needs of each account. */
    readonly proxyAccounts: readonly ProxyAccount[];
    /** Every MLflow account of the server at `/`: username's login, users, model readers. */
    readonly authUsers: readonly AuthUser[];
    /** Secret, shared by the proxy (include file) and MLflow (env). */
    readonly proxyToken: pulumi.Output<string>;
    /** Secret, one per server and shared by all its tasks and workers. */
    readonly flaskSecretKey: pulumi.Output<string>;
    /** Per project name: its server's accounts, token and Flask key, its own (never `/`'s). */
    readonly projects: Record<string, ServerAccounts>;
}

/** What one project's MLflow server and its nginx location need for team accounts. */
export interface ServerAccounts {
    /** The project's login (admin), the stack's admins and the project's members. */
    readonly authUsers: readonly AuthUser[];
    /** Secret: only this project's location and server hold it, so it asserts nobody to `/` or another project. */
    readonly proxyToken: pulumi.Output<string>;
    /** Secret, shared by the project's tasks and workers. */
    readonly flaskSecretKey: pulumi.Output<string>;
}

/** A user's login: `<platform>-user-<name>-password` unless given, and its kept salt. */
function userLogin(parent: pulumi.Resource, name: string, user: UserConfig, given: string | undefined): BasicAuthCredentials {
    return basicAuthCredentials(parent, `${name}-user-${user.name}`, user.name, given === undefined ? undefined : pulumi.secret(given));
}

/** The accounts of a stack with `users`; undefined without (nothing is created). */
export function platformAccounts(config: MlflowPlatformArgs, name: string, parent: pulumi.Resource, servedModels: readonly string[]): PlatformAccounts | undefined {
    const users = config.users ?? [];
    if (users.length === 0) return undefined;
    const credentials = users.map(u => userLogin(parent, name, u, config.userPasswords?.[u.name]));
    const random48 = (suffix: string, length: number) =>
        pulumi.secret(new random.RandomPassword(`${name}-${suffix}`, { length, special: false }, { parent }).result);
    const projects = Object.fromEntries(config.projects.map(p => [p.name, {
        authUsers: projectAuthUsers({ project: p.name, projectLogin: p.username, users }),
        proxyToken: random48(`project-${p.name}-proxy-token`, PROXY_TOKEN_LENGTH),
        flaskSecretKey: random48(`project-${p.name}-flask-secret-key`, FLASK_SECRET_KEY_LENGTH),
    }]));
    return {
        projects,
        users,
        credentials,
        proxyAccounts: users.map((u, i) => ({ name: u.name, htpasswdLine: credentials[i].htpasswd, projects: u.role === "admin" ? "all" as const : u.projects })),
        authUsers: platformAuthUsers({ username: config.username, users, servedModels }),
        proxyToken: random48("proxy-token", PROXY_TOKEN_LENGTH),
        flaskSecretKey: random48("flask-secret-key", FLASK_SECRET_KEY_LENGTH),
    };
}

/** A user as the non-secret `users` output shows it. */
export interface UserSummary {
    readonly role: UserRole;
    readonly projects: readonly string[];
}

/** `users` (name -> role and projects, not secret) and one secret password output per user. */
export function accountOutputs(accounts: PlatformAccounts | undefined): { users?: pulumi.Output<Record<string, UserSummary>>; userPasswords?: Record<string, pulumi.Output<string>> } {
    if (accounts === undefined) return {};
    return {
        users: pulumi.output(Object.fromEntries(accounts.users.map(u => [u.name, { role: u.role, projects: [...u.projects] }]))),
        userPasswords: Object.fromEntries(accounts.users.map((u, i) => [u.name, pulumi.secret(accounts.credentials[i].password)])),
    };
}
