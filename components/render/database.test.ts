import { encodeUriComponentStrict, renderDatabaseUri, renderPostgresInitScript } from "./database";

describe("renderDatabaseUri", () => {
    test.each<["mysql" | "postgres", string]>([
        ["mysql", "mysql+pymysql://mlflow:pw@db:3306/mlflow?charset=utf8mb4"],
        ["postgres", "postgresql+psycopg2://mlflow:pw@db:5432/mlflow"],
    ])("%s uses the driver the image ships", (engine, expected) => {
        expect(renderDatabaseUri({ engine, host: "db", database: "mlflow", username: "mlflow", password: "pw" })).toBe(expected);
    });

    test.each([
        ["p@ss:w%rd/#?", "p%40ss%3Aw%25rd%2F%23%3F"],
        ["it's(*)!", "it%27s%28%2A%29%21"],
        ["a+b=c~d.e_f-g", "a%2Bb%3Dc~d.e_f-g"],
        ["пароль", "%D0%BF%D0%B0%D1%80%D0%BE%D0%BB%D1%8C"],
    ])("password %p is percent-encoded as %p", (password, encoded) => {
        const uri = renderDatabaseUri({ engine: "postgres", host: "h", database: "d", username: "u", password });
        expect(uri).toBe(`postgresql+psycopg2://u:${encoded}@h:5432/d`);
        expect(decodeURIComponent(encoded)).toBe(password);
    });

    test("an explicit port and an Aurora endpoint", () => {
        expect(renderDatabaseUri({ engine: "mysql", host: "c.cluster-x.eu-west-1.rds.amazonaws.com", port: 3307, database: "mlflow", username: "u", password: "p" }))
            .toBe("mysql+pymysql://u:p@c.cluster-x.eu-west-1.rds.amazonaws.com:3307/mlflow?charset=utf8mb4");
    });

    test("an IPv6 host is bracketed", () => {
        expect(renderDatabaseUri({ engine: "postgres", host: "::1", database: "d", username: "u", password: "p" })).toContain("@[::1]:5432/");
    });
});

test("only RFC 3986 unreserved characters stay unencoded", () => {
    const unreserved = "ABCxyz019-._~";
    expect(encodeUriComponentStrict(unreserved)).toBe(unreserved);
    for (const c of "!#$&'()*+,/:;=?@[]% ") expect(encodeUriComponentStrict(c)).toMatch(/^%[0-9A-F]{2}$/);
});

describe("renderPostgresInitScript", () => {
    const script = renderPostgresInitScript();

    test("creates a login role and a database it owns, from environment variables", () => {
        expect(script).toContain(`-v app_user="$MLFLOW_DB_USER"`);
        expect(script).toContain(`-v app_password="$MLFLOW_DB_PASSWORD"`);
        expect(script).toContain(`CREATE ROLE :"app_user" LOGIN PASSWORD :'app_password';`);
        expect(script).toContain(`CREATE DATABASE :"app_db" OWNER :"app_user"`);
    });

    test("stops at the first SQL error", () => {
        expect(script).toContain("ON_ERROR_STOP=1");
        expect(script).toMatch(/^#!\/bin\/sh\n[\s\S]*set -eu/);
    });
});
