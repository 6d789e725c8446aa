# Analysis datasets (ADaM) from the validated, data-cut domains.
rule adsl:
    input:
        sdtm=expand(f"{R}/sdtm/{{dom}}.parquet", dom=DOMAINS),
        meta=f"{R}/sdtm/ingest.json",
    output:
        f"{R}/adam/adsl.parquet",
    params:
        cfg=config,
    log:
        f"{R}/logs/adsl.log",
    benchmark:
        f"{R}/logs/bench/adsl.tsv",
    script:
        "../scripts/adsl.py"
