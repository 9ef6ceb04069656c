// Basic-auth credentials for the proxy: the password (given or generated) and a SHA-512-crypt
// htpasswd line that stays the same across `pulumi up` runs.
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { renderHtpasswd } from "../authProxy/nginx";
import { sha512Crypt, SHA_CRYPT_MAX_SALT } from "../authProxy/shaCrypt";

export interface BasicAuthCredentials {
    readonly password: pulumi.Output<string>;
    readonly htpasswd: pulumi.Output<string>;
}

/**
 * SHA-512-crypt rounds, chosen by measurement (docs/security.md, "Proxy authentication cost"). A generated
 * password has 24 random alphanumerics (~143 bits): no number of rounds changes what guessing it
 * costs, so the spec's minimum. A user-chosen one gets the spec's default, 5x slower to guess,
 * still about 3 ms of nginx CPU per request.
 */
export const GENERATED_PASSWORD_ROUNDS = 1000;
export const CHOSEN_PASSWORD_ROUNDS = 5000;

/** The htpasswd entry of `password` with a salt kept in state, so it is stable until either changes. */
export function stableHtpasswdEntry(password: string, salt: string, generated: boolean): string {
    return sha512Crypt(password, salt.slice(0, SHA_CRYPT_MAX_SALT), generated ? GENERATED_PASSWORD_ROUNDS : CHOSEN_PASSWORD_ROUNDS);
}

export function basicAuthCredentials(
    parent: pulumi.Resource, name: string, username: string, password?: pulumi.Input<string>,
): BasicAuthCredentials {
    // One salt kept in state for either kind of password (same resource as before for a given
    // one), so the hash, and with it the proxy container, only changes when the password does.
    const salt = new random.RandomString(`${name}-salt`, {
        length: 22, special: true, overrideSpecial: "./", upper: true, lower: true, numeric: true,
    }, { parent });
    const generated = password === undefined;
    const secret = generated
        ? new random.RandomPassword(`${name}-password`, { length: 24, special: false }, { parent }).result
        : pulumi.output(password);
    return {
        password: pulumi.secret(secret),
        htpasswd: pulumi.secret(pulumi.all([secret, salt.result]).apply(
            ([p, s]) => renderHtpasswd(username, stableHtpasswdEntry(p, s, generated)))),
    };
}
