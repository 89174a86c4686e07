// The question pre-filled in the "Ask about selection…" input box.

export interface FindingAtCursor {
  code?: string;
  message: string;
}

export function defaultQuestion(findings: FindingAtCursor[], selectionIsEmpty: boolean): string {
  const finding = findings[0];
  if (finding) {
    const label = finding.code ? `${finding.code}: ${finding.message}` : finding.message;
    return `Why is this flagged (${label}) and how should I fix it?`;
  }
  return selectionIsEmpty
    ? 'What could go wrong in this training code, and how should I fix it?'
    : 'What could go wrong in this code, and how should I fix it?';
}
