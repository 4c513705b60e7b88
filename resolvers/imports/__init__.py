"""Imports: from declared files to images with pixels, thumbnails and pyramids.

requests.py  creating an import job, cancelling it
uploads.py   receiving a file's bytes into staging (restartable by offset)
run.py       the import job: store originals, parse, write rows, derive pixels
rows.py      metadata read by the engine -> Fileset/OriginalFile/Image/Pixels/Channel rows
derive.py    statistics, thumbnails and pyramids of stored images; rebuilds
source.py    opening the pixels of a stored image (originals or its pyramid)
"""
