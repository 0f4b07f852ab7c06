-- Loyalty and referral: the collector is the authority. Types mean the same on SQLite and
-- PostgreSQL; times are ms since the Unix epoch.

-- Append-only: a balance is the sum of a customer's entries. Each entry has an idempotency
-- key, so a retried webhook or request adds nothing twice.
CREATE TABLE ledger (
    id TEXT PRIMARY KEY,
    site TEXT NOT NULL,
    customer TEXT NOT NULL,
    points BIGINT NOT NULL,
    -- order, order_refund, referral, redeem
    reason TEXT NOT NULL,
    idem_key TEXT NOT NULL,
    -- A JSON object: the order id, the reward and coupon of a redemption, ...
    detail TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (site, idem_key)
);
CREATE INDEX ledger_customer ON ledger (site, customer);

-- One row per customer with a ledger; redemptions update it first, which serialises them
-- (a row lock on PostgreSQL, the write lock on SQLite).
CREATE TABLE accounts (
    site TEXT NOT NULL,
    customer TEXT NOT NULL,
    version BIGINT NOT NULL,
    PRIMARY KEY (site, customer)
);

CREATE TABLE referral_codes (
    code TEXT PRIMARY KEY,
    site TEXT NOT NULL,
    customer TEXT NOT NULL,
    -- The referrer's visitor id when the code was issued, for the self-referral rule.
    visitor_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (site, customer)
);

-- Orders as the site's server confirmed them through the signed webhook.
CREATE TABLE orders (
    site TEXT NOT NULL,
    order_id TEXT NOT NULL,
    customer TEXT NOT NULL,
    email TEXT NOT NULL,
    amount_cents BIGINT NOT NULL,
    -- paid or refunded
    status TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (site, order_id)
);

-- One row per order that came with a referral code.
CREATE TABLE referrals (
    site TEXT NOT NULL,
    order_id TEXT NOT NULL,
    code TEXT NOT NULL,
    referrer TEXT NOT NULL,
    referee TEXT NOT NULL,
    -- pending (held), earned, cancelled (refunded in the hold period) or rejected
    status TEXT NOT NULL,
    -- why it was rejected: self_referral, existing_customer, cap_reached
    reason TEXT NOT NULL,
    release_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (site, order_id)
);
CREATE INDEX referrals_referrer ON referrals (site, referrer);
