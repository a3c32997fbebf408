-- The volume the dashboard benchmark times (benchmarks/dashboard.py); :contracts is the number
-- of invoices per month, 100000 for the recorded figures. Needs one seller entity, one party
-- and one contract, which the benchmark creates first.
INSERT INTO billing_billingrun (period_label, period_start, period_end, contract_filter, dry_run, mode, status, started_at, started_by, finished_at, chunks_done, counts)
SELECT to_char(d, 'YYYY-MM'), d::date, (d + interval '1 month')::date, '', false, 'process', 'completed', d, '', d + interval '2 days', 1, '{}'
FROM generate_series('2025-11-01'::timestamptz, '2026-12-01', interval '1 month') d;

-- Issued invoices: one per contract and month for twelve months, 10 % in USD.
INSERT INTO billing_invoice (document_type, status, number, seller_entity_id, contract_id, currency, period_start, period_end, issue_date, due_date, customer_po, line_extension, tax_total, payable, draft_key, parties, manual_edit, override_reason, created_at, issued_at, billing_run_id)
SELECT 'invoice', 'issued', 'N' || i, (SELECT min(id) FROM registry_sellerentity), NULL,
       CASE WHEN i % 10 = 0 THEN 'USD' ELSE 'EUR' END,
       m, (m + interval '1 month' - interval '1 day')::date, m, (m + interval '30 days')::date, '',
       1000, 190, 1190 + (i % 7), 'k' || i, '{}', false, '', m, m + interval '1 day' * (i % 5),
       (SELECT id FROM billing_billingrun WHERE period_start = m)
FROM (SELECT i, ('2025-12-01'::date + ((i / :contracts) || ' months')::interval)::date AS m
      FROM generate_series(0, 12 * :contracts - 1) i) s;

-- Payments: one per customer month, allocated to 90 % of the invoices 20 days after issue.
INSERT INTO receivables_payment (customer_id, received_on, currency, amount, method, reference, source, external_id, created_by, created_at)
SELECT (SELECT min(id) FROM registry_party), d::date, 'EUR', 1000000, 'bank_transfer', '', '', '', '', now()
FROM generate_series('2025-12-21'::date, '2026-12-21', interval '1 day') d;
INSERT INTO receivables_paymentallocation (payment_id, invoice_id, amount, rule, created_by, created_at)
SELECT p.id, i.id, i.payable, 'reference', '', now()
FROM billing_invoice i JOIN receivables_payment p ON p.received_on = i.issue_date + 20
WHERE i.id % 10 <> 3 AND i.document_type = 'invoice';

-- Credit notes of half an invoice on 1 % of the invoices, and disputes on another 1 %.
INSERT INTO billing_invoice (document_type, status, number, seller_entity_id, currency, issue_date, customer_po, line_extension, tax_total, payable, parties, manual_edit, override_reason, created_at, credited_invoice_id)
SELECT 'credit_note', 'issued', 'CN' || id, seller_entity_id, currency, issue_date + 10, '', 500, 95, 595, '{}', false, '', now(), id
FROM billing_invoice WHERE id % 100 = 7 AND document_type = 'invoice';
INSERT INTO receivables_dispute (invoice_id, opened_on, reason, note, amount, check_code, status, resolution, decision_note, decided_by, opened_by, created_at)
SELECT id, issue_date + 5, 'wrong_price', '', 100, '', 'open', '', '', '', '', now() FROM billing_invoice WHERE id % 100 = 11 AND document_type = 'invoice';

-- Held drafts (5 % of a month's contracts) of 2026-12 with 1.5 blocking findings each, of eight codes.
INSERT INTO billing_invoice (document_type, status, seller_entity_id, contract_id, currency, period_start, period_end, issue_date, customer_po, line_extension, tax_total, payable, draft_key, parties, manual_edit, override_reason, created_at)
SELECT 'invoice', 'held', (SELECT min(id) FROM registry_sellerentity), (SELECT min(id) FROM registry_contract), CASE WHEN i % 10 = 0 THEN 'USD' ELSE 'EUR' END,
       '2026-12-01', '2026-12-31', '2026-12-01', '', 1000, 190, 1190, 'h' || i, '{}', false, '', now()
FROM generate_series(1, :contracts / 20) i;
INSERT INTO checks_storedfinding (invoice_id, code, severity, subject, message, expected, actual, amount_at_stake, currency, evidence, observed, created_at)
SELECT id, (ARRAY['PRICE_MISMATCH','SOW_MISSING','TAX_RATE','PO_MISSING','BILL_TO_CHANGED','DISCOUNT_UNAPPROVED','CADENCE','CURRENCY'])[1 + id % 8],
       'block', 'line', 'msg', '', '', 10, currency, '{}', false, now()
FROM billing_invoice WHERE status = 'held';
INSERT INTO checks_storedfinding (invoice_id, code, severity, subject, message, expected, actual, amount_at_stake, currency, evidence, observed, created_at)
SELECT id, 'PRICE_MISMATCH', 'block', 'line', 'msg', '', '', 10, currency, '{}', false, now()
FROM billing_invoice WHERE status = 'held' AND id % 2 = 0;
ANALYZE;
