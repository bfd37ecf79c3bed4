-- What the input fingerprint hashes of one raw observation table (getvariable('raw_table')):
-- its rows, an order-independent hash of the observation keys, the newest retrieval.
with

final as (
    select
        count(*) as observations,
        bit_xor(hash(obs_id)) as key_hash,
        max(retrieved_at)::varchar as newest,
    from query_table(getvariable('raw_table'))
)

select * from final
