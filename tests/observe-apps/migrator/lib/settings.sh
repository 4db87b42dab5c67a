# Settings every process of the image reads.
export PYTHONUNBUFFERED=1
