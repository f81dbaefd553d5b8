/**
 * The mapping checked against a form's field definitions (the judgement /readyz, the console and
 * `npm run mapping:check` share), and the tolerant reading of getFormComponentDefinitionList's answer.
 */
import { expect } from 'chai';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { checkMappingAgainstForm, formatFormCheck, type FormFieldDefinition } from '../src/mapping/form-check.js';
import { parseFormDefinition, labelText } from '../src/yida/reader.js';
import { loadMapping } from '../src/mapping/index.js';
import { liveEnv, startSims, tempDir, derivedMapping, FIELDS, type Sims } from './helpers/e2e.js';

const mapping = loadMapping(join(import.meta.dirname, '..', 'manifest', 'mapping.json'));
const fitting = (): FormFieldDefinition[] => mapping.fields.map((f) => ({ fieldId: f.field, componentName: f.field.startsWith('textarea') ? 'TextareaField' : 'TextField', label: f.label }));

describe('mapping ↔ form check', () => {
  it('the shipped mapping fits a form that has its fields', () => {
    const r = checkMappingAgainstForm(mapping.fields, [...fitting(), { fieldId: 'numberField_x', componentName: 'NumberField', label: '价格' }], mapping.keyField);
    expect(r.ok).to.equal(true);
    expect(r.problems).to.deep.equal([]);
    expect(r.rows.every((row) => row.ok && row.formComponent)).to.equal(true);
    expect(r.unmapped.map((u) => u.fieldId)).to.deep.equal(['numberField_x']);
    expect(formatFormCheck(r)).to.include('the mapping fits the form');
  });

  it('finds unknown field ids, component and type mismatches and required fields nothing writes', () => {
    const form = fitting().filter((f) => f.fieldId !== FIELDS.remark);
    form.find((f) => f.fieldId === FIELDS.level1)!.componentName = 'NumberField';
    form.push({ fieldId: 'dateField_req', componentName: 'DateField', label: '上市日期', required: true });
    form.push({ fieldId: 'textField_optional', componentName: 'TextField', label: '备用', required: false });
    const withComponent = mapping.fields.map((f) => (f.field === FIELDS.level2 ? { ...f, componentName: 'SelectField' } : f));
    const r = checkMappingAgainstForm(withComponent, form, mapping.keyField);
    expect(r.ok).to.equal(false);
    const kinds = r.problems.map((p) => `${p.kind} ${p.field}`).sort();
    expect(kinds).to.deep.equal([
      `component_mismatch ${FIELDS.level2}`, `required_unmapped dateField_req`, `type_mismatch ${FIELDS.level1}`, `unknown_field ${FIELDS.remark}`,
    ].sort());
    expect(r.problems.find((p) => p.kind === 'unknown_field')!.message).to.include('产品备注').and.include('the form has no field');
    expect(r.rows.find((row) => row.field === FIELDS.remark)!.ok).to.equal(false);
    expect(r.unmapped.map((u) => u.fieldId)).to.deep.equal(['textField_optional']);
  });

  it('warns (without failing) about components it cannot judge, fields inside a sub-table and a key that is not a TextField', () => {
    const form = fitting();
    form.find((f) => f.fieldId === FIELDS.name)!.componentName = 'SerialNumberField';
    form.find((f) => f.fieldId === FIELDS.level2)!.parentId = 'tableField_sub';
    form.find((f) => f.fieldId === mapping.keyField)!.componentName = 'TextareaField';
    const r = checkMappingAgainstForm(mapping.fields, form, mapping.keyField);
    expect(r.ok).to.equal(true);
    expect(r.warnings.map((w) => w.kind).sort()).to.deep.equal(['inside_container', 'key_not_text', 'unsupported_component']);
  });

  it('a required field whose requiredness the definition does not state is not claimed required', () => {
    const r = checkMappingAgainstForm(mapping.fields, [...fitting(), { fieldId: 'textField_unknown', componentName: 'TextField' }], mapping.keyField);
    expect(r.ok).to.equal(true);
  });
});

describe('reading getFormComponentDefinitionList', () => {
  it('takes plain and i18n labels, every wrapping, nested children and each way of saying "required"', () => {
    expect(labelText({ zh_CN: '名称', en_US: 'Name', type: 'i18n' })).to.equal('名称');
    expect(labelText({ en_US: 'Name' })).to.equal('Name');
    const body = {
      result: [
        { fieldId: 'textField_a', componentName: 'TextField', label: { zh_CN: '名称', en_US: 'Name', type: 'i18n' }, required: true },
        { fieldId: 'numberField_b', componentName: 'NumberField', label: '价格', props: { required: 'true' } },
        { fieldId: 'dateField_c', componentName: 'DateField', label: '日期', validation: [{ type: 'required' }] },
        { componentId: 'selectField_d', componentType: 'SelectField', label: '状态', rules: [{ required: false }] },
        { fieldId: 'tableField_t', componentName: 'TableField', label: '明细', children: [{ fieldId: 'textField_child', componentName: 'TextField', label: '子项' }] },
        { fieldId: 'textField_a', componentName: 'TextField', label: 'duplicate id, ignored' },
        'junk', null, { label: 'no id' },
      ],
    };
    expect(parseFormDefinition(body)).to.deep.equal([
      { fieldId: 'textField_a', componentName: 'TextField', label: '名称', required: true },
      { fieldId: 'numberField_b', componentName: 'NumberField', label: '价格', required: true },
      { fieldId: 'dateField_c', componentName: 'DateField', label: '日期', required: true },
      { fieldId: 'selectField_d', componentName: 'SelectField', label: '状态', required: false },
      { fieldId: 'tableField_t', componentName: 'TableField', label: '明细' },
      { fieldId: 'textField_child', componentName: 'TextField', label: '子项', parentId: 'tableField_t' },
    ]);
    expect(parseFormDefinition({ data: { components: [{ fieldId: 'x_1', componentName: 'TextField' }] } })).to.deep.equal([{ fieldId: 'x_1', componentName: 'TextField' }]);
    expect(parseFormDefinition([{ fieldId: 'x_1', componentName: 'TextField' }])).to.have.length(1);
    expect(parseFormDefinition(undefined)).to.deep.equal([]);
  });
});

describe('npm run mapping:check (a process, against the DingTalk simulator through the real SDK)', function () {
  this.timeout(60_000);
  let sims: Sims;
  let tmp: ReturnType<typeof tempDir>;
  before(async () => { sims = await startSims(); tmp = tempDir('mapcheck-'); });
  after(async () => { await sims?.close(); tmp?.remove(); });

  // A child process, awaited without blocking: the simulators answer from this process's event loop.
  const run = (extra: Record<string, string> = {}, args: string[] = []) => new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
    const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...liveEnv(sims, { STORE_URL: `sqlite://${join(tmp.dir, 's.sqlite')}` }), ...extra };
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/mapping-check.ts', ...args], { cwd: join(import.meta.dirname, '..'), env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => { stdout += c; });
    child.stderr.on('data', (c: Buffer) => { stderr += c; });
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });

  it('exits 0 and says so when the mapping fits the simulated form', async () => {
    const r = await run();
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stdout).to.include('the mapping fits the form').and.include(FIELDS.name);
    expect(sims.dt.requests().some((q) => q.api === 'yida.getFormComponentDefinitionList')).to.equal(true);
  });

  it('exits 1 and names the problem when it does not; --json gives the structure', async () => {
    const file = derivedMapping(join(tmp.dir, 'm.json'), { [FIELDS.remark]: { field: 'textareaField_gone' } });
    const r = await run({ MAPPING_FILE: file });
    expect(r.status).to.equal(1);
    expect(r.stdout).to.include('unknown_field').and.include('textareaField_gone');
    const j = await run({ MAPPING_FILE: file }, ['--json']);
    expect(j.status).to.equal(1);
    expect(JSON.parse(j.stdout).problems.map((p: { kind: string }) => p.kind)).to.deep.equal(['unknown_field']);
    for (const secret of [sims.dt.credentials.appSecret, sims.dt.yida.systemToken]) expect(r.stdout + r.stderr + j.stdout).to.not.include(secret);
  });

  it('exits 1 with the reason when the form cannot be read', async () => {
    const r = await run({ YIDA_FORM_UUID: 'FORM-DOES-NOT-EXIST' });
    expect(r.status).to.equal(1);
    expect(r.stderr).to.include('could not read the Yida form definition').and.include('YIDA_REJECTED');
  });
});
