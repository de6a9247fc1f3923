/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vd-breeds.c — the breeds and coat colours offered as completion in the pet form: dogs'
 * common breeds in the order of their FCI groups (1 sheepdogs … 10 sighthounds), common
 * cat breeds, and the coat colours of each; English names marked for translation, matched
 * in the desk's language with the search's accent-blind word prefixes. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "vd-breeds.h"
#include "vd-search.h"

static const char * const dog_breeds[] = {
  /* 1: sheepdogs and cattle dogs */
  N_("German Shepherd"), N_("Belgian Shepherd"), N_("Border Collie"), N_("Rough Collie"),
  N_("Shetland Sheepdog"), N_("Australian Shepherd"), N_("Welsh Corgi"), N_("Old English Sheepdog"),
  N_("Pyrenean Shepherd"), N_("Catalan Sheepdog"),
  /* 2: pinschers, schnauzers, molossoids, mountain dogs */
  N_("Dobermann"), N_("Miniature Schnauzer"), N_("Giant Schnauzer"), N_("Boxer"), N_("Rottweiler"),
  N_("Great Dane"), N_("Bernese Mountain Dog"), N_("Saint Bernard"), N_("Newfoundland"),
  N_("Spanish Mastiff"), N_("Pyrenean Mastiff"), N_("Dogo Argentino"), N_("Shar Pei"),
  N_("Bulldog"), N_("Cane Corso"), N_("Miniature Pinscher"),
  /* 3: terriers */
  N_("Yorkshire Terrier"), N_("Jack Russell Terrier"), N_("West Highland White Terrier"),
  N_("Fox Terrier"), N_("Scottish Terrier"), N_("Staffordshire Bull Terrier"),
  N_("American Staffordshire Terrier"), N_("Bull Terrier"), N_("Airedale Terrier"),
  /* 4: dachshunds */
  N_("Dachshund"),
  /* 5: spitz and primitive types */
  N_("Siberian Husky"), N_("Alaskan Malamute"), N_("Samoyed"), N_("Akita"), N_("Shiba"),
  N_("Pomeranian"), N_("Chow Chow"), N_("Podenco Ibicenco"), N_("Podenco Canario"), N_("Basenji"),
  /* 6: scent hounds */
  N_("Beagle"), N_("Basset Hound"), N_("Bloodhound"), N_("Dalmatian"), N_("Rhodesian Ridgeback"),
  /* 7: pointing dogs */
  N_("German Shorthaired Pointer"), N_("English Pointer"), N_("English Setter"), N_("Irish Setter"),
  N_("Weimaraner"), N_("Brittany"), N_("Vizsla"), N_("Spanish Pointer"),
  /* 8: retrievers, flushing and water dogs */
  N_("Labrador Retriever"), N_("Golden Retriever"), N_("Flat-Coated Retriever"),
  N_("English Cocker Spaniel"), N_("American Cocker Spaniel"), N_("English Springer Spaniel"),
  N_("Spanish Water Dog"), N_("Portuguese Water Dog"),
  /* 9: companion and toy dogs */
  N_("Chihuahua"), N_("Maltese"), N_("Bichon Frise"), N_("Havanese"), N_("Poodle"), N_("Shih Tzu"),
  N_("Lhasa Apso"), N_("Pug"), N_("French Bulldog"), N_("Boston Terrier"),
  N_("Cavalier King Charles Spaniel"), N_("Pekingese"), N_("Papillon"),
  /* 10: sighthounds */
  N_("Spanish Greyhound"), N_("Greyhound"), N_("Whippet"), N_("Italian Greyhound"),
  N_("Afghan Hound"), N_("Saluki"),
  /* not a breed */
  N_("Mixed Breed"),
  NULL
};

static const char * const cat_breeds[] = {
  N_("European Shorthair"), N_("Domestic Shorthair"), N_("Domestic Longhair"), N_("Persian"),
  N_("Siamese"), N_("Maine Coon"), N_("British Shorthair"), N_("Ragdoll"), N_("Bengal"),
  N_("Sphynx"), N_("Russian Blue"), N_("Abyssinian"), N_("Norwegian Forest Cat"),
  N_("Scottish Fold"), N_("Birman"), N_("Exotic Shorthair"), N_("Devon Rex"), N_("Cornish Rex"),
  N_("Oriental Shorthair"), N_("Burmese"), N_("Turkish Angora"), N_("Turkish Van"),
  N_("Siberian"), N_("Chartreux"), N_("American Shorthair"),
  N_("Mixed Breed"),
  NULL
};

static const char * const dog_colours[] = {
  N_("Black"), N_("White"), N_("Brown"), N_("Chocolate"), N_("Liver"), N_("Tan"), N_("Fawn"),
  N_("Cream"), N_("Golden"), N_("Red"), N_("Grey"), N_("Blue"), N_("Brindle"), N_("Merle"),
  N_("Blue Merle"), N_("Sable"), N_("Black and Tan"), N_("Tricolour"), N_("Black and White"),
  N_("Brown and White"), N_("Harlequin"), N_("Spotted"),
  NULL
};

static const char * const cat_colours[] = {
  N_("Black"), N_("White"), N_("Grey"), N_("Blue"), N_("Cream"), N_("Red"), N_("Ginger"),
  N_("Tabby"), N_("Brown Tabby"), N_("Ginger Tabby"), N_("Silver Tabby"), N_("Tortoiseshell"),
  N_("Calico"), N_("Black and White"), N_("Colourpoint"), N_("Seal Point"), N_("Blue Point"),
  N_("Chocolate"), N_("Lilac"), N_("Smoke"),
  NULL
};

static const char * const *
list_for (const char  *species,
          VdBreedList  list)
{
  gboolean cat = g_strcmp0 (species, "cat") == 0;

  if (list == VD_BREED_LIST_COLOURS)
    return cat ? cat_colours : dog_colours;
  if (cat)
    return cat_breeds;
  if (g_strcmp0 (species, "dog") == 0)
    return dog_breeds;
  return NULL;
}

char **
vd_breeds_complete (const char  *species,
                    VdBreedList  list,
                    const char  *typed,
                    guint        limit)
{
  const char * const *names = list_for (species, list);
  g_auto(GStrv) query = vd_search_fold_words (typed != NULL ? typed : "");
  GPtrArray *found = g_ptr_array_new ();

  for (guint i = 0; names != NULL && names[i] != NULL && found->len < limit; i++)
    {
      /* Matched as shown: "pastor" finds "Pastor alemán" in Spanish. */
      const char *shown = g_dgettext (GETTEXT_PACKAGE, names[i]);
      g_auto(GStrv) words = vd_search_fold_words (shown);

      if (vd_search_words_match ((const char * const *) query, (const char * const *) words))
        g_ptr_array_add (found, g_strdup (shown));
    }
  g_ptr_array_add (found, NULL);
  return (char **) g_ptr_array_free (found, FALSE);
}
