-- The perception office a guarantee request named (requests.guarantees.v1): only its answer counts.
-- Requests already waiting are given the office auth names for their affiliate now, as the request
-- they were sent was addressed (or INCONNUE when auth has not announced the affiliate).
ALTER TABLE request ADD COLUMN guarantee_perception jsonb
    CHECK (guarantee_perception IS NULL OR (guarantee_perception ? 'code' AND guarantee_perception ? 'name'));

UPDATE request r
SET guarantee_perception = coalesce(
    (SELECT jsonb_build_object('code', p.perception_code, 'name', p.perception_name)
     FROM affiliate_profile p WHERE p.affiliate = r.affiliate),
    '{"code": "INCONNUE", "name": "Perception non renseignée"}'::jsonb)
WHERE r.state = 'AWAITING_GUARANTEE';
