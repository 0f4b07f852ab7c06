-- The ledger's rules of docs/loyalty-referral.md: every browser a referrer was seen in, for
-- the self-referral rule, and the coupons redemptions issue, which the site's server
-- consumes once.

-- Visitor ids (the widget's x-rapport-visitor) that came with a signed-in customer's reads
-- of the loyalty or referral panel. An order from one of them through that customer's code
-- is a self-referral.
CREATE TABLE referrer_visitors (
    site TEXT NOT NULL,
    customer TEXT NOT NULL,
    visitor_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (site, customer, visitor_id)
);
INSERT INTO referrer_visitors (site, customer, visitor_id, created_at)
    SELECT site, customer, visitor_id, created_at FROM referral_codes WHERE visitor_id <> '';

-- One row per coupon a redemption issued. Coupons issued before this table are found in the
-- ledger's redemption entries when first consumed.
CREATE TABLE coupons (
    site TEXT NOT NULL,
    code TEXT NOT NULL,
    customer TEXT NOT NULL,
    reward TEXT NOT NULL,
    cost BIGINT NOT NULL,
    -- issued or consumed
    status TEXT NOT NULL,
    -- the order the site's server used it on, if it said
    order_id TEXT,
    consumed_at BIGINT,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (site, code)
);
