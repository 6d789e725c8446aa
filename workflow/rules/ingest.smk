# Read the export, validate it against the input contract (all problems at once,
# report in validation/ also on failure), apply the data cut once, strip identifiers.
def export_input(wildcards):
    if config["data"]["source"] == "demo":
        return EXPORT
    folder = Path(EXPORT)
    if not folder.is_dir():
        raise WorkflowError(f"data.export_dir: export folder {folder} does not exist")
    return sorted(str(p) for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))


rule ingest:
    input:
        export_input,
    output:
        sdtm=expand(f"{R}/sdtm/{{dom}}.parquet", dom=DOMAINS),
        meta=f"{R}/sdtm/ingest.json",
    params:
        export_dir=EXPORT,
        cut=CUT,
        out_dir=R,
    log:
        f"{R}/logs/ingest.log",
    benchmark:
        f"{R}/logs/bench/ingest.tsv",
    script:
        "../scripts/ingest.py"
