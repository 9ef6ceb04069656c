// Basic-auth credentials for the proxy: the password (given or generated) and a bcrypt
// htpasswd line that stays the same across `pulumi up` runs.
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import * as bcrypt from "bcryptjs";
import { renderHtpasswd } from "./render/nginx";

export interface BasicAuthCredentials {
    readonly password: pulumi.Output<string>;
    readonly htpasswd: pulumi.Output<string>;
}

const BCRYPT_COST = 10;

/** bcrypt of `password` with a salt kept in state, so the hash is stable until either changes. */
export function stableBcrypt(password: string, salt22: string): string {
    return bcrypt.hashSync(password, `$2b$${BCRYPT_COST}$${salt22}`);
}

export function basicAuthCredentials(
    parent: pulumi.Resource, name: string, username: string, password?: pulumi.Input<string>,
): BasicAuthCredentials {
    if (password === undefined) {
        // random's bcryptHash is computed once and kept in state: no new hash, no container replacement, per run.
        const generated = new random.RandomPassword(`${name}-password`, { length: 24, special: false }, { parent });
        return {
            password: pulumi.secret(generated.result),
            htpasswd: pulumi.secret(generated.bcryptHash.apply(hash => renderHtpasswd(username, hash))),
        };
    }
    // A user-chosen password: hash it here, with a salt generated once and kept in state.
    const salt = new random.RandomString(`${name}-salt`, {
        length: 22, special: true, overrideSpecial: "./", upper: true, lower: true, numeric: true,
    }, { parent });
    return {
        password: pulumi.secret(password),
        htpasswd: pulumi.secret(pulumi.all([password, salt.result]).apply(([p, s]) => renderHtpasswd(username, stableBcrypt(p, s)))),
    };
}
