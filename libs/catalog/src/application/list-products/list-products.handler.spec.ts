import { prefixQuery } from './list-products.handler.js';

describe('prefixQuery', () => {
  it('makes every word a required prefix, so that a word being typed already matches', () => {
    expect(prefixQuery('coff')).toBe('coff:*');
    expect(prefixQuery('  chef  kni ')).toBe('chef:* & kni:*');
  });

  it('keeps only letters and digits, so that nothing the user types is tsquery syntax', () => {
    expect(prefixQuery("o'neil & (mug) | !cup:*")).toBe('o:* & neil:* & mug:* & cup:*');
    expect(prefixQuery('Kaffeemühle 2000')).toBe('Kaffeemühle:* & 2000:*');
  });

  it('leaves out excluded words and "or", which web-search syntax gives a meaning', () => {
    expect(prefixQuery('coffee -decaf')).toBe('coffee:*');
    expect(prefixQuery('tea or coffee')).toBe('tea:* & coffee:*');
    expect(prefixQuery('-- & !')).toBeUndefined();
  });
});
