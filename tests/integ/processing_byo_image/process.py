"""Counts the lines of every input file and reports what SageMaker's processing contract told it."""
import json
import os
import sys

config = json.load(open("/opt/ml/config/processingjobconfig.json"))
resource = json.load(open("/opt/ml/config/resourceconfig.json"))
host = resource["current_host"]
lines = {}
for entry in config["ProcessingInputs"]:
    folder = entry["S3Input"]["LocalPath"]
    for root, _, names in os.walk(folder):
        for name in sorted(names):
            with open(os.path.join(root, name)) as file:
                lines[os.path.relpath(os.path.join(root, name), "/opt/ml/processing")] = len(file.read().split())
for entry in config["ProcessingOutputConfig"]["Outputs"]:
    os.makedirs(entry["S3Output"]["LocalPath"], exist_ok=True)
    with open(os.path.join(entry["S3Output"]["LocalPath"], f"report-{host}.json"), "w") as report:
        json.dump({"host": host, "hosts": resource["hosts"], "arguments": sys.argv[1:], "lines": lines,
                   "job": config["ProcessingJobName"], "env": os.environ.get("REPORT_LABEL")}, report)
with open("/opt/ml/output/message", "w") as message:
    message.write(f"{host} counted {len(lines)} files")
print(f"{host}: {len(lines)} files", flush=True)
if "--fail" in sys.argv:
    sys.exit(3)
