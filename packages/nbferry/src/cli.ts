/** nbferry/cli: the building blocks of the nbferry command (see @nbferry/cli). */
export * from '@nbferry/cli';
