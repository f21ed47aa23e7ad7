"""The written record (讯问笔录) against the recording: reading it, aligning it on content, finding where they differ.

Pure: no store, no audio. cases/ keeps the imported versions; api/ shows the report.
"""
from consistency.align import AlignOptions, Alignment, Spoken, align
from consistency.check import CheckOptions, CheckReport, check_record
from consistency.discrepancies import KINDS, SEVERITIES, DetectOptions, Discrepancy
from consistency.errors import WrittenRecordError
from consistency.record import Block, WrittenRecord, parse_docx, parse_file_bytes, parse_text

__all__ = ["AlignOptions", "Alignment", "Spoken", "align", "CheckOptions", "CheckReport", "check_record", "KINDS",
           "SEVERITIES", "DetectOptions", "Discrepancy", "WrittenRecordError", "Block", "WrittenRecord",
           "parse_docx", "parse_file_bytes", "parse_text"]
