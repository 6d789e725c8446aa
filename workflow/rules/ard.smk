# Analysis results data: each analysis writes its own part; `ard` joins them into
# the long-format ARD of the results contract.
ARD_PARTS = ["sets", "disp"]


rule ard_sets:
    input:
        adsl=f"{R}/adam/adsl.parquet",
        ds=f"{R}/sdtm/ds.parquet",
    output:
        sets=f"{R}/ard/parts/sets.parquet",
        disp=f"{R}/ard/parts/disp.parquet",
    params:
        levels=list(config["dose_levels"]),
    script:
        "../scripts/ard_sets.py"


rule ard:
    input:
        expand(f"{R}/ard/parts/{{part}}.parquet", part=ARD_PARTS),
    output:
        parquet=f"{R}/ard/ard.parquet",
        csv=f"{R}/ard/ard.csv",
    script:
        "../scripts/ard_combine.py"
